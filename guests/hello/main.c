#include "guest/printf.h"
int main(void) { hv_printf("RESULT FAIL\n"); return 1; }
