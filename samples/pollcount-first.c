// SPDX-License-Identifier: GPL-2.0
/* pollcount-first: the README's first program. A counter in an epoll set. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pollcount.h"

int main(void)
{
	int dev = open("/dev/pollcount", O_RDWR);
	struct pollcount_create req = { .count = 0, .flags = POLLCOUNT_CLOEXEC };
	int counter = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);	/* eventfd2(0, EFD_CLOEXEC) */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, got;
	uint64_t value = 5;

	if (dev < 0 || counter < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, counter, &ev))
		return perror("pollcount"), 1;
	if (write(counter, &value, 8) != 8 || epoll_wait(ep, &got, 1, -1) != 1 ||
	    read(counter, &value, 8) != 8)
		return perror("pollcount"), 1;
	printf("epoll_data %llu, read %llu\n", (unsigned long long)got.data.u64,
	       (unsigned long long)value);
	return 0;
}
