package wxcrypto_test

import (
	"fmt"

	"github.com/csmsg/csmsg/internal/wxcrypto"
)

func ExampleSignature() {
	// The URL verification request of WeChat's message-push documentation:
	// ?signature=f464b24f...&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492
	fmt.Println(wxcrypto.Signature("AAAAA", "1714036504", "1514711492"))

	// A msg_signature covers the body's Encrypt value too.
	fmt.Println(wxcrypto.Signature("AAAAA", "1713424427", "415670741",
		"ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="))
	// Output:
	// f464b24fc39322e44b38aa78f5edd27bd1441696
	// 1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1
}
