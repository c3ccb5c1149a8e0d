// TimerQueue: cancel from another thread while the loop waits on that very timer (the
// heap-use-after-free tests/fuzz/fuzz_router found), cancel after a timer fired, firing order,
// and a callback that throws. Deterministic: the timer thread is held on a gate callback while
// the test sets timers up, so no result depends on how fast the machine is; run it under ASan
// (make sanitize-test) to check the memory side.

#include "server/timer_queue.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <future>
#include <stdexcept>
#include <string>
#include <vector>

namespace runbox::server {
namespace {

using std::chrono::milliseconds;

// Holds the timer thread inside a callback until Open(): timers set meanwhile all become due
// before the loop looks at them again.
class Gate {
 public:
  explicit Gate(TimerQueue& timers) {
    timers.After(milliseconds(0), [this] {
      entered_.set_value();
      open_.get_future().wait();
    });
    entered_.get_future().wait();
  }
  void Open() { open_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> open_;
};

// Waits until every timer set before this call with a deadline up to `delay` has run.
void Drain(TimerQueue& timers, milliseconds delay = milliseconds(0)) {
  std::promise<void> done;
  timers.After(delay, [&done] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(TimerQueueTest, CancelFromAnotherThreadWhileTheLoopWaitsOnIt) {
  TimerQueue timers;
  std::atomic<bool> fired{false};
  uint64_t id = timers.After(std::chrono::hours(1), [&fired] { fired = true; });
  // The loop is now (or soon) in wait_until on this timer's deadline; the erase must not pull
  // that deadline from under it.
  bool cancelled = false;
  std::thread other([&] { cancelled = timers.Cancel(id); });
  other.join();
  EXPECT_TRUE(cancelled);
  Drain(timers);  // the loop woke, found the timer gone, and still runs later ones
  EXPECT_FALSE(fired);
  EXPECT_FALSE(timers.Cancel(id));  // a second cancel finds nothing
}

TEST(TimerQueueTest, CancelAfterTheTimerFiredIsANoOp) {
  TimerQueue timers;
  std::atomic<int> runs{0};
  std::promise<void> ran;
  uint64_t id = timers.After(milliseconds(0), [&] {
    ++runs;
    ran.set_value();
  });
  ran.get_future().wait();
  EXPECT_FALSE(timers.Cancel(id));
  Drain(timers);
  EXPECT_EQ(runs, 1);
}

TEST(TimerQueueTest, CancelFromInsideTheCallbackThatIsRunning) {
  TimerQueue timers;
  std::promise<bool> result;
  uint64_t id = 0;
  std::promise<void> id_set;
  id = timers.After(milliseconds(0), [&] {
    id_set.get_future().wait();
    result.set_value(timers.Cancel(id));  // started already: a no-op, and no deadlock
  });
  id_set.set_value();
  EXPECT_FALSE(result.get_future().get());
}

TEST(TimerQueueTest, RunsInDeadlineOrderAndEqualDeadlinesInSetOrder) {
  TimerQueue timers;
  std::vector<std::string> order;  // only the timer thread writes it
  Gate gate(timers);
  timers.After(milliseconds(300), [&] { order.push_back("300ms"); });
  timers.After(milliseconds(100), [&] { order.push_back("100ms"); });
  uint64_t dropped = timers.After(milliseconds(200), [&] { order.push_back("dropped"); });
  timers.After(milliseconds(200), [&] { order.push_back("200ms"); });
  for (const char* name : {"now-a", "now-b", "now-c"}) {
    timers.After(milliseconds(0), [&order, name] { order.push_back(name); });
  }
  EXPECT_TRUE(timers.Cancel(dropped));
  // Held until every timer above is due: then only their deadlines decide the order, which the
  // 100 ms steps keep apart however slowly the lines above ran (ASan, a loaded machine).
  std::this_thread::sleep_for(milliseconds(350));
  gate.Open();
  Drain(timers, milliseconds(300));
  EXPECT_EQ(order,
            (std::vector<std::string>{"now-a", "now-b", "now-c", "100ms", "200ms", "300ms"}));
}

TEST(TimerQueueTest, CallbackMaySetAndCancelTimers) {
  TimerQueue timers;
  std::promise<void> second;
  std::atomic<bool> cancelled_ran{false};
  timers.After(milliseconds(0), [&] {
    uint64_t victim = timers.After(milliseconds(0), [&] { cancelled_ran = true; });
    EXPECT_TRUE(timers.Cancel(victim));
    timers.After(milliseconds(0), [&] { second.set_value(); });
  });
  ASSERT_EQ(second.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(cancelled_ran);
}

// A throw from a callback used to leave the timer thread, which is std::terminate: the whole
// server and every job in flight gone because of one long poll's answer (paiza.cc). The loop
// logs it and runs the next timer.
TEST(TimerQueueTest, ACallbackThatThrowsDoesNotStopTheQueue) {
  spdlog::set_level(spdlog::level::off);
  TimerQueue timers;
  timers.After(milliseconds(0), [] { throw std::runtime_error("callback failure"); });
  timers.After(milliseconds(0), [] { throw 42; });
  Drain(timers);
  spdlog::set_level(spdlog::level::warn);
}

TEST(TimerQueueTest, DestructorDropsPendingTimers) {
  std::atomic<bool> fired{false};
  {
    TimerQueue timers;
    timers.After(std::chrono::hours(1), [&fired] { fired = true; });
  }
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace runbox::server
