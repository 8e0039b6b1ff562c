// SPDX-License-Identifier: MIT
// Controller::wait (`spmi wait`): polls the alive locks until every selected manageable has ended, then
// says how each ended and what that makes the exit status.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/wait.hpp>

#include "controller_detail.hpp"

#include <algorithm>
#include <map>
#include <thread>

namespace spmi {

using namespace detail;

namespace {

// How `view` (decided inactive or failed) ended, and what that counts as.
WaitEnd
end_of(const ManageableView& view)
{
  WaitEnd end;
  end.id = view.id;
  end.state = view.state;
  end.exit = view.exit;
  if (view.exit) {
    end.code = view.exit->code;
    return end;
  }
  end.code = 1;
  const auto& run = view.run;
  const bool current = run && (!view.launch || run->token == view.launch->token);
  if (!view.launch && !run) {
    end.note = "it never ran (it was never started)";
  } else if (!current) {
    end.note = "its latest start never ran the task";
  } else if (!run->error.empty()) {
    end.note = run->error;
  } else {
    end.note = "the wrapper ended without recording how the task ended (was it killed?)";
  }
  return end;
}

} // namespace

int
WaitOutcome::exit_status() const
{
  if (timed_out()) {
    return k_timeout;
  }
  for (const auto& end : ended) {
    if (end.code != 0) {
      return end.code;
    }
  }
  return 0;
}

std::optional<WaitEnd>
Controller::wait_look(const std::string& id, bool ask_queue, bool& queued)
{
  if (!m_store.contains(id)) {
    return WaitEnd{id, State::inactive, std::nullopt, 1, "it was cleaned while waiting"};
  }
  const auto dir = m_store.dir(id);
  if (dir.is_active()) {
    return std::nullopt;  // the usual answer, from one lock test: nothing else is read
  }
  ManageableView view;
  view.id = id;
  read_view_records(view, dir);
  if (view.launch && view.launch->queued && !(view.run && view.run->token == view.launch->token)) {
    // A queued launch whose wrapper has not run: only its scheduler knows whether it still will.
    queued = true;
    if (!ask_queue) {
      return std::nullopt;
    }
    const auto states = queued_states({id});
    if (states.count(id) && states.at(id) != QueueState::gone) {
      return std::nullopt;
    }
  }
  if (dir.is_active()) {
    return std::nullopt;  // started between the lock test and the records
  }
  decide_view(view, false, false);
  return end_of(view);
}

WaitOutcome
Controller::wait(const std::vector<std::string>& ids, std::optional<std::chrono::milliseconds> timeout)
{
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::map<std::string, WaitEnd> ended;
  std::vector<std::string> waiting(ids);
  auto next_queue_look = start;
  while (true) {
    const auto now = Clock::now();
    const bool ask_queue = now >= next_queue_look;
    bool queued = false;
    std::vector<std::string> still;
    for (const auto& id : waiting) {
      if (auto end = wait_look(id, ask_queue, queued)) {
        ended.emplace(id, std::move(*end));
      } else {
        still.push_back(id);
      }
    }
    if (ask_queue && queued) {
      next_queue_look = now + k_wait_queue_poll;  // a scheduler is asked at most this often
    }
    waiting = std::move(still);
    const auto elapsed = Clock::now() - start;
    if (waiting.empty() || (timeout && elapsed >= *timeout)) {
      break;
    }
    auto pause = std::chrono::duration_cast<Clock::duration>(k_wait_poll);
    if (timeout) {
      pause = std::min(pause, *timeout - elapsed);
    }
    std::this_thread::sleep_for(pause);
  }
  WaitOutcome outcome;
  for (auto& [id, end] : ended) {
    outcome.ended.push_back(std::move(end));
  }
  std::sort(waiting.begin(), waiting.end());
  outcome.running = std::move(waiting);
  return outcome;
}

} // namespace spmi
