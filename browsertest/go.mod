module github.com/csmsg/csmsg/browsertest

go 1.22

require (
	github.com/csmsg/csmsg v0.2.0
	github.com/csmsg/csmsg/inbox v0.0.0
)

require (
	go.etcd.io/bbolt v1.3.11 // indirect
	golang.org/x/sys v0.4.0 // indirect
)

replace github.com/csmsg/csmsg => ../

replace github.com/csmsg/csmsg/inbox => ../inbox
