// Package partition owns the rules of partitioned assets: checking a
// definition, generating its keys page by page, checking one key, and
// mapping a downstream partition to the upstream partitions it reads. It is
// pure: the current time is always passed in, and nothing here touches the
// database.
package partition
