// The whole runtime.
#pragma once

#include "aio/buffer_pool.hpp"
#include "aio/fifo.hpp"
#include "aio/inotify.hpp"
#include "aio/ops.hpp"
#include "aio/pidfd.hpp"
#include "aio/race.hpp"
#include "aio/result.hpp"
#include "aio/ring.hpp"
#include "aio/runtime.hpp"
#include "aio/scope.hpp"
#include "aio/signals.hpp"
#include "aio/stop.hpp"
#include "aio/sync.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"
