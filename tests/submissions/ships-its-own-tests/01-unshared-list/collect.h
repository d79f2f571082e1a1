#define COLLECT_MAX 1
int collect(void);
