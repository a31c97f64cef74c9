// The fallback root filesystem where overlayfs is missing: a plain copy made by applying the
// image's layer directories in order (base first). The layer directories are in overlay
// form, so whiteouts (0:0 character devices) delete what lower layers made, and opaque
// directories (trusted.overlay.opaque=y) hide their lower contents. Ownership, modes,
// times, xattrs, symlinks, device nodes and hard links (within a layer) are kept.
#pragma once
#include <string>

namespace ecsa::oci {

// Applies one layer directory onto the existing directory `target`.
void flatten_layer_onto(const std::string& layer_dir, const std::string& target);

}  // namespace ecsa::oci
