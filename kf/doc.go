// Package kf answers the users of a mini program through WeChat's
// customer-service API (客服消息, kefu): a [Client] sends text, images, link
// and mini program cards and the typing status, and uploads and downloads
// temporary media, with access tokens from a [TokenSource] (by default a
// [StableTokenSource], WeChat's stable access tokens).
//
// Package github.com/csmsg/csmsg receives what users send; this package
// answers them, and imports nothing of it. Package kf/kftest is an offline
// stand-in for the API, for tests.
//
// An errcode WeChat answers is an *[Error]; the Code constants name the
// ones a bot branches on. Other failures match [ErrBadResponse],
// [ErrMediaTooLarge] or [ErrInvalidConfig] with errors.Is. No error holds
// the access token or the AppSecret.
package kf
