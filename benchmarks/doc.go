// Package benchmarks compares csmsg with other Go SDKs that receive WeChat
// Mini Program customer-service pushes, on the same bodies. It is a module
// of its own, so that csmsg itself depends on none of them. Run ./run.sh.
package benchmarks
