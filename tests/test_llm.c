/* test_llm.c - prompt building, request planning, answer validation */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include <cmocka.h>

int main(void)
{
    return 0;
}
