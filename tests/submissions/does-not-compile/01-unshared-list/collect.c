/* A file that does not compile: the lesson scores 0, the others are graded. */
#include "collect.h"
int collect(int n, long (*work)(int index), long items[]) { return n +; }
