// SPDX-License-Identifier: MIT
// A thread of `spmi web` that makes Controller calls, so the I/O thread never waits on one (a start
// waits up to 10 s, a stop up to stop_timeout). It owns its own PluginRegistry and Controller (the
// Controller promises no thread safety), takes jobs from a bounded queue and runs them in order.
#pragma once

#include <spmi/controller.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace spmi::web {

class Worker
{
public:
  // What a job gets: the worker's Controller and the lines logged through its logger since the job
  // began (what the CLI would have said on stderr), for the job to take with captured().
  class Context
  {
  public:
    // The worker's Controller. @throws what making it threw (then every job fails with it).
    Controller& controller() const;
    spdlog::logger& log;
    // The lines logged since the job began, without the logger's prefix.
    std::string captured() const;

  private:
    friend class Worker;
    Context(Controller* c, std::exception_ptr e, spdlog::logger& l, std::ostringstream& lines)
      : log(l), m_controller(c), m_error(std::move(e)), m_lines(lines)
    {
    }
    Controller* m_controller;
    std::exception_ptr m_error;
    std::ostringstream& m_lines;
  };
  using Job = std::function<void(Context&)>;

  // Starts the thread; `max_queued` jobs may wait at once.
  Worker(std::string name, std::size_t max_queued);
  // Stops (see stop()) and joins.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `job`; false when the queue is full or the worker is stopping (the caller answers 503).
  bool post(Job job);
  // Takes no more jobs; the one running finishes, queued ones are dropped.
  void stop();
  // Waits up to `limit` for the running job to finish; false when it did not.
  bool idle_within(std::chrono::milliseconds limit);

private:
  void loop();

  std::string m_name;
  std::size_t m_max;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_idle;
  std::deque<Job> m_jobs;
  bool m_stopping = false;
  bool m_busy = false;
  std::thread m_thread;
};

} // namespace spmi::web
