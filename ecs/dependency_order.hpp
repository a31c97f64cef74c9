// The order in which a task's containers start: every container after those it depends
// on (dependsOn, links, volumesFrom), otherwise in definition order. Stopping goes in
// the reverse order, as the ECS agent does.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ecsa::ecs {

// deps[i] = indices of the containers that container i must start after.
// A cycle throws Error("<where>: dependency cycle: a -> b -> a").
std::vector<size_t> start_order(const std::vector<std::string>& names,
                                const std::vector<std::vector<size_t>>& deps,
                                const std::string& where = "containerDefinitions");

}  // namespace ecsa::ecs
