// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "pollcount.h"

TEST(open_dev)
{
	int fd = open("/dev/pollcount", O_RDWR);

	if (fd < 0 && errno == ENOENT)
		SKIP(return, "/dev/pollcount is absent: load pollcount.ko");
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
