package csmsg_test

import (
	"net/url"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// The package's own tests sign pushes with csmsgtest, which imports the
// package, so they cannot import it themselves: this external test file
// hands them csmsgtest.Sign.
func init() {
	csmsg.SignForTest = func(cfg csmsg.Config, mode int, body []byte) (url.Values, []byte, error) {
		p, err := csmsgtest.Sign(cfg, csmsgtest.Mode(mode), body)
		if err != nil {
			return nil, nil, err
		}
		return p.Query, p.Body, nil
	}
	csmsg.ModeNameForTest = func(mode int) string { return csmsgtest.Mode(mode).String() }
}
