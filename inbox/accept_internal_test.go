package inbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
)

// Every push of the root module's testdata that parses comes back from the
// store as the same message.
func TestEncodeRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../testdata/*.*")
	require.NoError(t, err)
	n := 0
	for _, file := range files {
		body, err := os.ReadFile(file)
		require.NoError(t, err)
		msg, err := csmsg.Parse(body)
		if err != nil {
			continue // an envelope, or a case of bad input
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			stored, err := encode(msg)
			require.NoError(t, err)
			back, err := decode(stored)
			require.NoError(t, err)
			assert.Equal(t, msg, back)
		})
		n++
	}
	assert.Greater(t, n, 10)
}
