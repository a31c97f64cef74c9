#include "ecs/dependency_order.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ecsa::ecs {

namespace {

// Depth-first search for a cycle, to name it in the error.
bool find_cycle(size_t at, const std::vector<std::vector<size_t>>& deps, std::vector<int>& state,
                std::vector<size_t>& stack) {
  state[at] = 1;
  stack.push_back(at);
  for (size_t d : deps[at]) {
    if (state[d] == 1) {
      stack.push_back(d);
      return true;
    }
    if (state[d] == 0 && find_cycle(d, deps, state, stack)) return true;
  }
  stack.pop_back();
  state[at] = 2;
  return false;
}

}  // namespace

std::vector<size_t> start_order(const std::vector<std::string>& names,
                                const std::vector<std::vector<size_t>>& deps,
                                const std::string& where) {
  const size_t n = names.size();
  std::vector<size_t> order;
  std::vector<bool> started(n, false);
  // Kahn's algorithm that always takes the first ready container in definition order,
  // so a task without dependencies starts exactly as written.
  while (order.size() < n) {
    bool progressed = false;
    for (size_t i = 0; i < n; ++i) {
      if (started[i]) continue;
      bool ready = std::all_of(deps[i].begin(), deps[i].end(), [&](size_t d) { return started[d]; });
      if (!ready) continue;
      started[i] = true;
      order.push_back(i);
      progressed = true;
      break;
    }
    if (progressed) continue;
    std::vector<int> state(n, 0);
    std::vector<size_t> stack;
    for (size_t i = 0; i < n; ++i) {
      if (started[i] || state[i] != 0) continue;
      if (find_cycle(i, deps, state, stack)) break;
    }
    std::string cycle;
    if (!stack.empty()) {
      // The stack ends with the repeated node; print from its first occurrence.
      size_t last = stack.back();
      auto first = std::find(stack.begin(), stack.end(), last);
      for (auto it = first; it != stack.end(); ++it) {
        if (!cycle.empty()) cycle += " -> ";
        cycle += names[*it];
      }
    }
    throw Error(where + ": dependency cycle: " + cycle);
  }
  return order;
}

}  // namespace ecsa::ecs
