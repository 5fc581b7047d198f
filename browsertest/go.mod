module github.com/csmsg/csmsg/browsertest

go 1.22

require github.com/csmsg/csmsg v0.0.0

replace github.com/csmsg/csmsg => ../
