// Ring set-up: the preferred flags on this kernel, the probe, the error text.
#include "support.hpp"

#include <doctest/doctest.h>

TEST_CASE("the ring is set up single-issuer with deferred task work where the kernel has it") {
  aio::Ring ring;
  REQUIRE(ring.init({}).ok());
  // Kernel 6.1+ has all three; the fallback chain is exercised on older ones.
  CHECK((ring.setup_flags() & IORING_SETUP_DEFER_TASKRUN) != 0);
  CHECK((ring.setup_flags() & IORING_SETUP_TASKRUN_FLAG) != 0);
  CHECK(ring.supports(IORING_OP_READ));
  CHECK(ring.missing({IORING_OP_READ, IORING_OP_ASYNC_CANCEL}).empty());
  CHECK(ring.cq_entries() == 2 * ring.sq_entries());
}

TEST_CASE("an impossible ring size is an error with a reason, not an abort") {
  aio::Ring ring;
  std::string why;
  aio::RingOptions o;
  o.entries = 1u << 30;
  auto r = ring.init(o, &why);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(why.empty());
}

TEST_CASE("unavailable io_uring is explained in one sentence") {
  auto s = aio::io_uring_unavailable_reason(aio::errno_code(ENOSYS));
  CHECK(s.find("no io_uring") != std::string::npos);
  auto m = aio::io_uring_unavailable_reason(aio::errno_code(ENOMEM));
  CHECK(m.find("MEMLOCK") != std::string::npos);
}

TEST_CASE("io_uring disabled by sysctl is named as the reason") {
  auto off = aio::io_uring_unavailable_reason(aio::errno_code(EPERM), 2);
  CHECK(off == "io_uring is disabled on this host (kernel.io_uring_disabled=2)");
  auto group = aio::io_uring_unavailable_reason(aio::errno_code(EPERM), 1);
  CHECK(group.find("io_uring_group") != std::string::npos);
  auto other = aio::io_uring_unavailable_reason(aio::errno_code(EPERM), 0);
  CHECK(other == "cannot set up io_uring: Operation not permitted");
}

TEST_CASE("interpret maps kernel results to counts, cancellation and errors") {
  CHECK(*aio::interpret(42) == 42);
  CHECK(aio::interpret(-ECANCELED).cancelled());
  CHECK(aio::interpret(-EINTR).cancelled());
  CHECK(aio::interpret(-aio::kErestartsys).cancelled());
  CHECK(aio::interpret(-ENOENT).error() == std::errc::no_such_file_or_directory);
}
