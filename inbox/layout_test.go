package inbox_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A store in another module implements queue.Store and runs storetest
// without building bbolt: neither package, nor memstore, depends on it.
func TestStoreInterfaceBuildsNoBolt(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "./queue", "./storetest", "./memstore").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, pkg := range strings.Fields(string(out)) {
		assert.NotContains(t, pkg, "bbolt")
	}
}
