// `run` = create + start + delete in one process. It needs no exec fifo on disk: the init
// waits on a pipe whose write end `run` holds (one file fewer to create and remove on the
// state filesystem per container), and start and delete use the state it holds in memory.
// Seen from outside, the container is "running" from the moment its state exists.
#pragma once
#include <sys/types.h>

#include <functional>

#include "common/fd.hpp"
#include "runtime/container.hpp"

namespace ecsa::runtime {

struct RunningStart {
  pid_t pid = -1;
  ContainerState state;  // as saved in state.json
  UniqueFd start_fd;     // write end of the start pipe; the init's read end closes on exec
};

// create_container, except that the init waits on a pipe instead of the exec fifo.
RunningStart create_container_for_run(const CreateOptions& opts);

// Lets the init exec (one byte on start_fd), waits until it has executed, runs the poststart
// hooks: start_container for a handle from create_container_for_run.
void start_from_handle(RunningStart& run);

// delete --force from a state already loaded.
void delete_loaded(const StateDir& dir, const ContainerState& s, bool force,
                   const std::function<void(const ContainerState&)>& on_removed);

}  // namespace ecsa::runtime
