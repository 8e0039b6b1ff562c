// SPDX-License-Identifier: MIT
// `spmi web`'s worker threads (see worker.hpp).
#include "worker.hpp"

#include <spmi/log.hpp>
#include <spmi/registry.hpp>

#include <spdlog/sinks/ostream_sink.h>

namespace spmi::web {

Controller&
Worker::Context::controller() const
{
  if (m_controller == nullptr) {
    std::rethrow_exception(m_error);
  }
  return *m_controller;
}

std::string
Worker::Context::captured() const
{
  auto text = m_lines.str();
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text;
}

Worker::Worker(std::string name, std::size_t max_queued) : m_name(std::move(name)), m_max(max_queued)
{
  m_thread = std::thread([this] { loop(); });
}

Worker::~Worker()
{
  stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

bool
Worker::post(Job job)
{
  std::lock_guard lock(m_mutex);
  if (m_stopping || m_jobs.size() >= m_max) {
    return false;
  }
  m_jobs.push_back(std::move(job));
  m_wake.notify_one();
  return true;
}

void
Worker::stop()
{
  std::lock_guard lock(m_mutex);
  m_stopping = true;
  m_jobs.clear();
  m_wake.notify_one();
}

bool
Worker::idle_within(std::chrono::milliseconds limit)
{
  std::unique_lock lock(m_mutex);
  return m_idle.wait_for(lock, limit, [this] { return !m_busy; });
}

void
Worker::loop()
{
  // Its own registry and Controller; its logger writes to the server's stderr as spmi's does, and to
  // the lines a job captures (an action's answer says what the CLI would have said).
  std::ostringstream lines;
  auto capture = std::make_shared<spdlog::sinks::ostream_sink_st>(lines);
  capture->set_pattern("%v");
  auto sinks = logger()->sinks();
  sinks.push_back(capture);
  auto log = std::make_shared<spdlog::logger>("Spmi", sinks.begin(), sinks.end());
  log->set_level(logger()->level());
  std::unique_ptr<PluginRegistry> registry;
  std::unique_ptr<Controller> controller;
  std::exception_ptr setup_error;
  try {
    registry = std::make_unique<PluginRegistry>(PluginRegistry::default_dirs());
    controller = std::make_unique<Controller>(Controller::default_state_root(), *registry, log);
  } catch (...) {
    setup_error = std::current_exception();
  }
  while (true) {
    Job job;
    {
      std::unique_lock lock(m_mutex);
      m_busy = false;
      m_idle.notify_all();
      m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
      if (m_stopping) {
        return;
      }
      job = std::move(m_jobs.front());
      m_jobs.pop_front();
      m_busy = true;
    }
    lines.str("");
    try {
      Context context(controller.get(), setup_error, *log, lines);
      job(context);
    } catch (const std::exception& e) {
      logger()->error("web {} worker: {}", m_name, e.what());  // a job answers its own errors
    }
  }
}

} // namespace spmi::web
