// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount's own interface: the uapi header's values, POLLCOUNT_IOC_CREATE
 * and its errors, the anonymous files it makes, the device node, and the
 * poll bits eventfd does not report (EPOLLRDNORM, EPOLLWRNORM, EPOLLERR).
 */
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

/* The header's promises, checked by the compiler. */
_Static_assert(POLLCOUNT_SEMAPHORE == EFD_SEMAPHORE, "SEMAPHORE is EFD_SEMAPHORE");
_Static_assert(POLLCOUNT_NONBLOCK == O_NONBLOCK, "NONBLOCK is O_NONBLOCK");
_Static_assert(POLLCOUNT_CLOEXEC == O_CLOEXEC, "CLOEXEC is O_CLOEXEC");
_Static_assert(POLLCOUNT_NONBLOCK == EFD_NONBLOCK && POLLCOUNT_CLOEXEC == EFD_CLOEXEC,
	       "the flags are eventfd2()'s");
_Static_assert(!(POLLCOUNT_MAILBOX & (EFD_SEMAPHORE | O_NONBLOCK | O_CLOEXEC)),
	       "MAILBOX is a bit of its own");
_Static_assert(sizeof(struct pollcount_create) == 16, "no padding, same on 32 and 64 bit");

FIXTURE(uapi)
{
	int dev;
};

FIXTURE_SETUP(uapi)
{
	if (!pollcount_present())
		SKIP(return, "/dev/pollcount is absent: load pollcount.ko");
	self->dev = open(POLLCOUNT_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("open: %s", strerror(errno));
}

FIXTURE_TEARDOWN(uapi)
{
	close(self->dev);
}

static int create(int dev, uint64_t count, uint32_t flags, uint32_t reserved)
{
	struct pollcount_create req = { .count = count, .flags = flags, .reserved = reserved };

	return ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
}

TEST_F(uapi, ioctl_number)
{
	/* _IOW(0xBB, 0x01, 16 bytes): direction write, size 16, type 0xBB, nr 1. */
	EXPECT_EQ(0x4010bb01u, (unsigned int)POLLCOUNT_IOC_CREATE);
	EXPECT_EQ(0xBB, _IOC_TYPE(POLLCOUNT_IOC_CREATE));
	EXPECT_EQ(16, _IOC_SIZE(POLLCOUNT_IOC_CREATE));
}

TEST_F(uapi, device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(POLLCOUNT_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 0777);
	EXPECT_EQ(10, major(st.st_rdev));	/* a misc device */
}

TEST_F(uapi, open_gives_a_fresh_private_counter)
{
	int a = open(POLLCOUNT_DEV, O_RDWR | O_NONBLOCK);
	int b = open(POLLCOUNT_DEV, O_RDWR | O_NONBLOCK), err;

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	read_u64(a, &err);
	EXPECT_EQ(EAGAIN, err);		/* count 0 */
	ASSERT_EQ(8, write_u64(a, 3));
	read_u64(b, &err);
	EXPECT_EQ(EAGAIN, err);		/* not shared with a */
	EXPECT_EQ(3, read_u64(a, &err));
	close(a);
	close(b);
}

TEST_F(uapi, create_returns_an_anonymous_file)
{
	char path[64], target[64] = { 0 };
	int fd = create(self->dev, 5, 0, 0), err;

	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_LT(0, readlink(path, target, sizeof(target) - 1));
	EXPECT_STREQ("anon_inode:[pollcount]", target);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, fcntl(fd, F_GETFD));
	set_nonblock(fd, true);
	EXPECT_EQ(5, read_u64(fd, &err));
	close(fd);
}

TEST_F(uapi, create_flags)
{
	int fd = create(self->dev, 0, POLLCOUNT_NONBLOCK | POLLCOUNT_CLOEXEC, 0), err;

	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	read_u64(fd, &err);
	EXPECT_EQ(EAGAIN, err);
	close(fd);
}

TEST_F(uapi, create_rejects_bad_requests)
{
	EXPECT_EQ(-1, create(self->dev, 0, 1u << 3, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create(self->dev, 0, 0x80000000u, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create(self->dev, 0, O_RDWR << 4, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create(self->dev, 0, 0, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create(self->dev, 0, POLLCOUNT_SEMAPHORE | POLLCOUNT_MAILBOX, 0));
	EXPECT_EQ(EINVAL, errno);
	/* A mailbox cannot hold a value no write could store. */
	EXPECT_EQ(-1, create(self->dev, UINT64_MAX, POLLCOUNT_MAILBOX, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(uapi, create_with_bad_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->dev, POLLCOUNT_IOC_CREATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->dev, POLLCOUNT_IOC_CREATE, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(uapi, unknown_ioctls_are_enotty)
{
	struct pollcount_create req = { 0 };

	EXPECT_EQ(-1, ioctl(self->dev, _IO(POLLCOUNT_IOC_MAGIC, 0x02)));
	EXPECT_EQ(ENOTTY, errno);
	/* The right number with the wrong size is another command. */
	EXPECT_EQ(-1, ioctl(self->dev, _IOW(POLLCOUNT_IOC_MAGIC, 0x01, __u64), &req));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->dev, _IOR(POLLCOUNT_IOC_MAGIC, 0x01, struct pollcount_create), &req));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->dev, 0));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(uapi, create_works_on_a_created_file)
{
	int a = create(self->dev, 1, 0, 0), b, err;

	ASSERT_LE(0, a);
	b = create(a, 2, POLLCOUNT_NONBLOCK, 0);
	ASSERT_LE(0, b);
	EXPECT_EQ(2, read_u64(b, &err));
	set_nonblock(a, true);
	EXPECT_EQ(1, read_u64(a, &err));
	close(a);
	close(b);
}

TEST_F(uapi, create_initial_counts)
{
	int fd = create(self->dev, COUNT_MAX, POLLCOUNT_NONBLOCK, 0), err;

	ASSERT_LE(0, fd);
	EXPECT_EQ(POLLIN, poll_now(fd, POLLIN | POLLOUT));
	EXPECT_EQ(COUNT_MAX, read_u64(fd, &err));
	close(fd);

	/* A mailbox created full. */
	fd = create(self->dev, 99, POLLCOUNT_MAILBOX | POLLCOUNT_NONBLOCK, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write_u64(fd, 1));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(99, read_u64(fd, &err));
	close(fd);
}

/* The state no write can reach: count 0xffffffffffffffff, eventfd's EPOLLERR. */
TEST_F(uapi, overflowed_count_reports_epollerr)
{
	int fd = create(self->dev, UINT64_MAX, POLLCOUNT_NONBLOCK, 0), err;

	ASSERT_LE(0, fd);
	/* POLLERR is reported even when not asked for. */
	EXPECT_EQ(POLLIN | POLLERR, poll_now(fd, POLLIN | POLLOUT));
	EXPECT_EQ(POLLERR, poll_now(fd, 0));
	EXPECT_EQ(-1, write_u64(fd, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(UINT64_MAX, read_u64(fd, &err));
	EXPECT_EQ(POLLOUT, poll_now(fd, POLLIN | POLLOUT));
	close(fd);

	/* Semaphore mode steps down from it one by one. */
	fd = create(self->dev, UINT64_MAX, POLLCOUNT_NONBLOCK | POLLCOUNT_SEMAPHORE, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, read_u64(fd, &err));
	EXPECT_EQ(POLLIN, poll_now(fd, POLLIN | POLLOUT | POLLERR));
	close(fd);
}

TEST_F(uapi, poll_reports_rdnorm_and_wrnorm)
{
	short all = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
	int fd = create(self->dev, 0, POLLCOUNT_NONBLOCK, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(POLLOUT | POLLWRNORM, poll_now(fd, all));
	ASSERT_EQ(8, write_u64(fd, 1));
	EXPECT_EQ(all, poll_now(fd, all));
	/* Asking only for the NORM bits is enough. */
	EXPECT_EQ(POLLRDNORM, poll_now(fd, POLLRDNORM));
	close(fd);
}

TEST_F(uapi, epoll_wakes_a_waiter_asking_only_rdnorm)
{
	struct epoll_event ev = { .events = EPOLLRDNORM | EPOLLET };
	int fd = create(self->dev, 0, POLLCOUNT_NONBLOCK, 0), ep = epoll_create1(0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(8, write_u64(fd, 1));
	/* The wakeup key carries EPOLLRDNORM too, so the item is woken. */
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_EQ(EPOLLRDNORM, ev.events);
	close(ep);
	close(fd);
}

static int fdinfo_field(int fd, const char *key, char *out, size_t len)
{
	char text[512], *p, *end;

	if (!read_fdinfo(fd, text, sizeof(text)))
		return -1;
	p = strstr(text, key);
	if (!p)
		return -1;
	p += strlen(key);
	end = strchr(p, '\n');
	snprintf(out, len, "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
	return 0;
}

TEST_F(uapi, fdinfo_lines)
{
	int a = create(self->dev, 0x1234, POLLCOUNT_SEMAPHORE, 0);
	int b = create(self->dev, 7, POLLCOUNT_MAILBOX, 0);
	char va[64], vb[64];

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, fdinfo_field(a, "pollcount-count: ", va, sizeof(va)));
	EXPECT_STREQ("            1234", va);	/* %16llx, as eventfd */
	ASSERT_EQ(0, fdinfo_field(a, "pollcount-semaphore: ", va, sizeof(va)));
	EXPECT_STREQ("1", va);
	ASSERT_EQ(0, fdinfo_field(a, "pollcount-mode: ", va, sizeof(va)));
	EXPECT_STREQ("counter", va);
	ASSERT_EQ(0, fdinfo_field(b, "pollcount-mode: ", vb, sizeof(vb)));
	EXPECT_STREQ("mailbox", vb);
	ASSERT_EQ(0, fdinfo_field(b, "pollcount-semaphore: ", vb, sizeof(vb)));
	EXPECT_STREQ("0", vb);
	/* Ids are decimal and unique. */
	ASSERT_EQ(0, fdinfo_field(a, "pollcount-id: ", va, sizeof(va)));
	ASSERT_EQ(0, fdinfo_field(b, "pollcount-id: ", vb, sizeof(vb)));
	EXPECT_EQ(strspn(va, "0123456789"), strlen(va));
	EXPECT_STRNE(va, vb);
	close(a);
	close(b);
}

TEST_HARNESS_MAIN
