// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
int main(void) { puts("demo placeholder"); return 0; }
