package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestModuleVersion(t *testing.T) {
	cases := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"released", debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, "v0.3.0"},
		{"checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "f2e988a0123456789abcdef"}, {Key: "vcs.modified", Value: "false"}}}, "(devel) f2e988a01234"},
		{"modified checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "f2e988a0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}}, "(devel) f2e988a01234+dirty"},
		{"no stamp", debug.BuildInfo{}, "(devel)"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, moduleVersion(&tc.info), tc.name)
	}
}

func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := runCmd(t, "", "version")
	assert.Equal(t, 0, code)
	assert.Empty(t, stderr)
	// A test binary is not stamped with the module's version.
	assert.Equal(t, "csmsg (devel) "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n", stdout)

	code, _, stderr = runCmd(t, "", "version", "extra")
	assert.Equal(t, 2, code)
	assert.Equal(t, "csmsg: version takes no arguments\n", stderr)
}
