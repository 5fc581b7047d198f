package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
	"github.com/csmsg/csmsg/csmsgtest"
)

const verifyExample = `  csmsg verify-url --url http://127.0.0.1:8080/ --token csmsg-demo-token`

// verifyCmd implements "csmsg verify-url".
func verifyCmd(e *env, args []string) error {
	fs := newFlagSet(e, "verify-url", "verify-url --url URL --token T [--echostr S]\n\nMakes the signed GET request WeChat sends when the admin saves the push URL\nand checks that the endpoint answers 200 with the echostr, verbatim.", verifyExample)
	target := fs.String("url", "", "the push `URL` of the backend (required)")
	token := fs.String("token", "", "the `Token` of the message-push settings (required)")
	echostr := fs.String("echostr", "", "the `value` to have echoed (default a random number, as WeChat sends)")
	timeout := fs.Duration("timeout", deliver.Timeout, "how long to wait for the answer")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageError("verify-url takes no arguments; run 'csmsg verify-url --help'")
	case *target == "":
		return usageError("verify-url: --url is required")
	case *token == "":
		return usageError("verify-url: --token is required")
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return usageError(fmt.Sprintf("URL %q: want an http:// or https:// URL", *target))
	}
	if *echostr == "" {
		var b [8]byte
		rand.Read(b[:])
		*echostr = strconv.FormatUint(binary.BigEndian.Uint64(b[:])>>1, 10)
	}
	q, err := csmsgtest.VerifyURL(csmsg.Config{Token: *token}, *echostr)
	if err != nil {
		return err
	}
	uq := u.Query()
	for k, vs := range q {
		uq[k] = append(uq[k], vs...)
	}
	u.RawQuery = uq.Encode()
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fmt.Fprintf(e.stdout, "GET %s with echostr %s\n", *target, *echostr)
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("verify-url: no answer within %v", *timeout)
		}
		return fmt.Errorf("verify-url: %s", deliver.OneLine(err.Error()))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, deliver.MaxAnswer))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("verify-url: reading the answer: %v", err)
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("verify-url: status %s: %s", resp.Status, deliver.Wording{}.Refusal(resp.StatusCode, body))
	case string(body) != *echostr:
		return fmt.Errorf("verify-url: the answer %q is not the echostr %q, verbatim", deliver.FirstRunes(body, 40), *echostr)
	}
	fmt.Fprintf(e.stdout, "status 200, echostr echoed: the URL verifies\n")
	return nil
}
