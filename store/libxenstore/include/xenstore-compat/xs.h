/* Old name of xenstore.h, kept so programs using it still build (Xen warns the same way). */
#warning xs.h is deprecated use xenstore.h instead
#include <xenstore.h>
