#pragma once
// JobQueue: the bounded queue in front of the engine's box slots. The HTTP server pushes jobs;
// worker threads take them in order and call Engine::Run. A full queue answers at once (the server
// turns that into 503/429) instead of letting requests pile up without bound.
//
// It is an interface so that a networked queue can replace the in-process one when one machine is
// not enough. Persistence is not the queue's job: the server stores every job before pushing it,
// and re-pushes the stored queued jobs after a restart (PushRecovered).
//
// Thread-safety: every method may be called from any thread.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/engine.h"
#include "engine/job.h"

namespace runbox::engine {

struct QueueItem {
  std::string id;  // the job's id, for logs and callbacks
  Job job;
  RunHooks hooks;  // interactive runs only; empty for batch jobs
  // On a worker thread, right before Engine::Run.
  std::function<void(const std::string& id)> on_start;
  // Called exactly once per pushed item, on a worker thread (or in Shutdown()):
  //  - started = true: the engine ran it; `result` is its JobResult or the engine's Error.
  //  - started = false: the queue shut down before the item started; `result` is a
  //    kUnavailable Error. The caller decides whether it runs after a restart.
  std::function<void(const std::string& id, Result<JobResult> result, bool started)> on_done;
};

class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // Enqueues an item. kResourceExhausted ("queue is full") when `capacity` items are already
  // waiting; kUnavailable once Shutdown() has begun. On error on_done is never called.
  virtual Status Push(QueueItem item) = 0;
  // Enqueues an item that was accepted before a restart, even above capacity: a job the server
  // once accepted must never be dropped. kUnavailable once Shutdown() has begun.
  virtual Status PushRecovered(QueueItem item) = 0;

  virtual size_t waiting() const = 0;   // items not yet started
  virtual size_t running() const = 0;   // items in Engine::Run now
  virtual size_t capacity() const = 0;  // most items that may wait
  virtual int workers() const = 0;

  // Graceful shutdown: stops accepting, calls on_done(started = false) for every waiting item,
  // waits until the running items have finished (their on_done has returned), and joins the
  // workers. Returns the ids of the items that never started. Idempotent.
  virtual std::vector<std::string> Shutdown() = 0;
};

struct InProcessQueueOptions {
  int workers = 1;        // threads calling Engine::Run; normally the engine's slot count
  size_t capacity = 64;   // waiting items beyond which Push() fails
};

// engine must outlive the queue.
std::unique_ptr<JobQueue> MakeInProcessQueue(Engine* engine, const InProcessQueueOptions& options);

}  // namespace runbox::engine
