/* Old name of xenstore_lib.h, kept so programs using it still build. */
#warning xs_lib.h is deprecated use xenstore_lib.h instead
#include <xenstore_lib.h>
