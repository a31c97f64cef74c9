// GetRuntimeToolsNamespace for the validation programs: the stored util package predates it.
// Written for ecsa's conformance run (tests/conformance/run.sh copies it into validation/util).
package util

// GetRuntimeToolsNamespace maps a /proc/<pid>/ns/ name to the runtime-spec namespace type.
func GetRuntimeToolsNamespace(ns string) string {
	switch ns {
	case "mnt":
		return "mount"
	case "net":
		return "network"
	}
	return ns
}
