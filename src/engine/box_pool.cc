#include "engine/box_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace runbox::engine {

BoxPool::BoxPool(sandbox::HostConfig host, size_t capacity)
    : host_(std::move(host)), capacity_(capacity) {
  if (capacity_ > 0) {
    thread_ = std::thread([this] { Loop(); });
  }
}

BoxPool::~BoxPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();  // the thread closes what is left before it ends
  }
}

std::optional<sandbox::Box> BoxPool::Take(const sandbox::Policy& policy) {
  if (capacity_ == 0) {
    return std::nullopt;
  }
  std::optional<sandbox::Box> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = ready_.begin(); it != ready_.end(); ++it) {
      if (it->Fits(policy)) {
        found.emplace(std::move(*it));
        ready_.erase(it);
        break;
      }
    }
    ++(found ? stats_.hits : stats_.misses);
    // A hit asks for its replacement. A miss means the pool is behind (or the shape is new):
    // it asks for one box of the shape unless one is on its way already, so that a busy
    // server, whose runs outpace the pool, does not build each box twice (once in the run, once
    // here) and evict the surplus.
    auto same = [&](const sandbox::Policy& p) { return p.SameBox(policy); };
    bool on_its_way = (preparing_ && preparing_->SameBox(policy)) ||
                      std::any_of(wanted_.begin(), wanted_.end(), same);
    if (found || !on_its_way) {
      wanted_.push_back(policy);  // its copy_in and copy_out are a run's, and Prepare drops them
      while (wanted_.size() > capacity_) {
        wanted_.pop_front();
      }
    }
  }
  wake_.notify_one();
  return found;
}

void BoxPool::Retire(sandbox::Box box) {
  if (capacity_ == 0) {
    (void)box.Close();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    retired_.push_back(std::move(box));
  }
  wake_.notify_one();
}

BoxPoolStats BoxPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  BoxPoolStats s = stats_;
  s.ready = ready_.size();
  return s;
}

namespace {

// Preparing a box is work for an idle CPU: it runs at this nice value, box and all, and gives way
// to the programs of running jobs (a prepared box's program starts at 0 again, sandbox::Box).
// Teardown runs at 0: it frees slots and cgroups, and must keep up with the jobs.
constexpr int kPrepareNice = 10;

void SetThreadNice(int nice) {
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice);
}

}  // namespace

void BoxPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !retired_.empty() || !wanted_.empty(); });
    // Teardown first: it frees the slot and the cgroup names that preparing may need.
    if (!retired_.empty()) {
      std::vector<sandbox::Box> closing = std::move(retired_);
      retired_.clear();
      lock.unlock();
      SetThreadNice(0);
      closing.clear();  // each box's destructor closes it
      lock.lock();
      continue;
    }
    if (stop_) {
      std::deque<sandbox::Box> left = std::move(ready_);
      ready_.clear();
      lock.unlock();
      SetThreadNice(0);
      left.clear();
      return;
    }
    preparing_ = std::move(wanted_.front());
    wanted_.pop_front();
    lock.unlock();
    SetThreadNice(kPrepareNice);
    auto box = sandbox::Box::Prepare(*preparing_, host_,
                                     sandbox::BoxOptions{std::nullopt, true, kPrepareNice});
    lock.lock();
    preparing_.reset();
    if (!box) {
      ++stats_.failures;
      continue;
    }
    ready_.push_back(std::move(*box));
    while (ready_.size() > capacity_) {
      retired_.push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
  }
}

}  // namespace runbox::engine
