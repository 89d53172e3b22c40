// The subcommands of the `kakehashi` binary. Each takes argv from the word after its name and
// returns the process exit code; errors are printed to stderr as one clear line.
#pragma once

namespace kakehashi::cli {

int run_serve(int argc, char** argv, int first);         // serve.cc
int run_demo(int argc, char** argv, int first);          // serve.cc
int run_erase_talent(int argc, char** argv, int first);  // erase.cc
int run_rebuild(int argc, char** argv, int first);       // rebuild.cc
int run_verify(int argc, char** argv, int first);        // verify.cc
int run_repair(int argc, char** argv, int first);        // verify.cc
int run_bench(int argc, char** argv, int first);         // bench.cc
int run_token(int argc, char** argv, int first);         // token.cc: issue, revoke, list
int run_crash(int argc, char** argv, int first);  // crash.cc: crash-test, crash-writer, crash-check

class args;
int bench_rebuild(const args& a);  // bench_rebuild.cc
int bench_fanout(const args& a);   // bench_fanout.cc: WebSocket fan-out
int bench_load(const args& a);     // bench_load.cc: mixed load against a running server

}  // namespace kakehashi::cli
