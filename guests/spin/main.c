/* spin: runs forever without output or hypercalls, for pause/unpause/destroy tests. */
#include "guest/runtime.h"

int main(void)
{
    volatile unsigned long counter = 0;
    for (;;)
        counter++;
}
