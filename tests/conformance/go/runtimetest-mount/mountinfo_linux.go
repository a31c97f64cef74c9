// Package mount reads /proc/self/mountinfo for runtimetest (the package of the same name in
// runtime-tools is not in Debian's -dev package). Written for ecsa's conformance run.
package mount

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Info is one line of mountinfo (proc(5)).
type Info struct {
	ID, Parent, Major, Minor int
	Root, Mountpoint, Opts  string
	Optional                string
	Fstype, Source, VfsOpts string
}

// unescape decodes the octal escapes (\040) the kernel uses in paths.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// GetMounts returns the mounts of the calling process, in mount order.
func GetMounts() ([]*Info, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*Info
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		sep := strings.Index(line, " - ")
		if sep < 0 {
			return nil, fmt.Errorf("mountinfo: no separator in %q", line)
		}
		pre, post := strings.Fields(line[:sep]), strings.Fields(line[sep+3:])
		if len(pre) < 6 || len(post) < 2 {
			return nil, fmt.Errorf("mountinfo: short line %q", line)
		}
		m := &Info{Root: unescape(pre[3]), Mountpoint: unescape(pre[4]), Opts: pre[5],
			Fstype: post[0], Source: unescape(post[1])}
		m.ID, _ = strconv.Atoi(pre[0])
		m.Parent, _ = strconv.Atoi(pre[1])
		if mm := strings.SplitN(pre[2], ":", 2); len(mm) == 2 {
			m.Major, _ = strconv.Atoi(mm[0])
			m.Minor, _ = strconv.Atoi(mm[1])
		}
		m.Optional = strings.Join(pre[6:], " ")
		if len(post) > 2 {
			m.VfsOpts = post[2]
		}
		out = append(out, m)
	}
	return out, s.Err()
}
