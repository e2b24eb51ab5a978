/* hello: printf plus a fixed-size buffer filled by strcpy, so -D_FORTIFY_SOURCE (__strcpy_chk) and
 * -fstack-protector (__stack_chk_fail) have something to act on. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char buf[64];
    strcpy(buf, argc > 1 ? argv[1] : "world");
    printf("hello, %s\n", buf);
    return 0;
}
