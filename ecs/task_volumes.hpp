// The host side of a task's volumes (task definition `volumes[]`), as the ECS agent makes
// them with Docker: host.sourcePath is bound as is; an empty `host` or no host is a
// task-scoped local volume; dockerVolumeConfiguration with the local driver is a volume of
// scope task (made for the task, removed with it) or shared (kept, reused by name), mounted
// like Docker's local driver does: mount(device, dir, type, o) when driverOpts say so
// (e.g. type=tmpfs).
#pragma once
#include <map>
#include <string>

#include "ecs/task_plan.hpp"

namespace ecsa::ecs {

// Makes every volume of the plan; returns volume name -> host directory. `task_volumes_dir`
// holds the task-scoped ones, `<store_root>/volumes` the shared ones. On failure, what was
// made is removed again.
std::map<std::string, std::string> prepare_task_volumes(const TaskPlan& plan,
                                                        const std::string& task_volumes_dir,
                                                        const std::string& store_root);

// Unmounts and removes the task-scoped volumes (shared ones and host paths stay).
void remove_task_volumes(const TaskPlan& plan, const std::string& task_volumes_dir);

// Where shared volumes live.
std::string shared_volumes_dir(const std::string& store_root);

}  // namespace ecsa::ecs
