#include "engine/queue.h"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace runbox::engine {
namespace {

class InProcessQueue final : public JobQueue {
 public:
  InProcessQueue(Engine* engine, const InProcessQueueOptions& options)
      : engine_(engine), capacity_(options.capacity) {
    int n = options.workers < 1 ? 1 : options.workers;
    threads_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] { WorkerLoop(); });
    }
  }

  ~InProcessQueue() override { Shutdown(); }

  Status Push(QueueItem item) override { return Enqueue(std::move(item), /*force=*/false); }
  Status PushRecovered(QueueItem item) override { return Enqueue(std::move(item), true); }

  size_t waiting() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  size_t running() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return running_;
  }
  size_t capacity() const override { return capacity_; }
  int workers() const override { return static_cast<int>(threads_.size()); }

  std::vector<std::string> Shutdown() override {
    std::deque<QueueItem> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        return {};
      }
      stopping_ = true;
      dropped.swap(items_);
    }
    cv_.notify_all();
    std::vector<std::string> ids;
    for (auto& item : dropped) {
      ids.push_back(item.id);
      Finish(item, MakeError(ErrorCode::kUnavailable,
                             "runbox is shutting down; the job did not start"),
             /*started=*/false);
    }
    // Workers finish the item they hold (a running job is never cut short by a shutdown), then
    // see stopping_ and an empty queue, and return.
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
    return ids;
  }

 private:
  Status Enqueue(QueueItem item, bool force) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        return MakeError(ErrorCode::kUnavailable, "runbox is shutting down");
      }
      if (!force && items_.size() >= capacity_) {
        return MakeError(ErrorCode::kResourceExhausted,
                         "queue is full (" + std::to_string(capacity_) + " jobs waiting)");
      }
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
    return OkStatus();
  }

  // A throwing callback is a bug in its owner; it must not take the worker (and with it the
  // server) down, so it is reported and the worker goes on.
  static void Finish(QueueItem& item, Result<JobResult> result, bool started) {
    if (!item.on_done) {
      return;
    }
    try {
      item.on_done(item.id, std::move(result), started);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "runbox: job %s: on_done threw: %s\n", item.id.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "runbox: job %s: on_done threw\n", item.id.c_str());
    }
  }

  void WorkerLoop() {
    for (;;) {
      QueueItem item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !items_.empty(); });
        if (items_.empty()) {
          return;  // stopping and nothing left
        }
        item = std::move(items_.front());
        items_.pop_front();
        ++running_;
      }
      if (item.on_start) {
        try {
          item.on_start(item.id);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "runbox: job %s: on_start threw: %s\n", item.id.c_str(), e.what());
        }
      }
      Result<JobResult> result = MakeError(ErrorCode::kInternal, "engine did not run");
      // The engine throws no exceptions by contract; a bad_alloc must still not lose the job or
      // kill the worker, so it becomes the job's error.
      try {
        result = engine_->Run(item.job, item.hooks);
      } catch (const std::exception& e) {
        result = MakeError(ErrorCode::kInternal, std::string("engine threw: ") + e.what());
      } catch (...) {
        result = MakeError(ErrorCode::kInternal, "engine threw an unknown exception");
      }
      Finish(item, std::move(result), /*started=*/true);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --running_;
      }
    }
  }

  Engine* engine_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<QueueItem> items_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<JobQueue> MakeInProcessQueue(Engine* engine, const InProcessQueueOptions& options) {
  return std::make_unique<InProcessQueue>(engine, options);
}

}  // namespace runbox::engine
