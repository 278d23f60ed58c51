%% SPDX-License-Identifier: Apache-2.0
%% Spawn on Erlang/OTP, as bench_spawn.cpp: spawns COUNT idle processes
%% (default 1,000,000) and keeps them alive; prints spawns per second (key
%% spawn), and the growth of the emulator's allocated memory
%% (erlang:memory(total), key spawn_heap) and of the resident set
%% (/proc/self/statm, key spawn_rss) over the spawns, in bytes per process.
%%
%% The clock stops when the last process has run its first function (an
%% atomics counter, as the C++ side counts with a std::atomic); the pids are
%% kept in a list, as the C++ side keeps its handles in a vector. Each
%% repetition runs in a fresh `erl` started by this one (with +P large
%% enough for COUNT), as the C++ side forks one process per measurement, so
%% that memory freed by one run does not hide the growth of the next; the
%% medians of --reps (default 3) are reported.
-module(bench_spawn).

-export([main/0, main/1, sample/0, idle/1]).

%% `erl -run bench_spawn main -extra ARGS`
main() -> main(init:get_plain_arguments()).

main(Args) ->
    bench_common:run(fun() ->
        #{count := N, reps := Reps} = bench_common:options(Args, 1000000, 3),
        Samples = [in_child(N) || _ <- lists:seq(1, Reps)],
        {Rates, Heaps, Rss} = lists:unzip3(Samples),
        bench_common:emit("spawn", bench_common:median(Rates), 0),
        bench_common:emit("spawn_heap", bench_common:median(Heaps), 0),
        bench_common:emit("spawn_rss", bench_common:median(Rss), 0)
    end).

%% Runs one measurement in a fresh emulator and returns {rate, heap, rss}.
in_child(N) ->
    Erl = filename:join([code:root_dir(), "bin", "erl"]),
    Dir = filename:dirname(code:which(?MODULE)),
    Procs = integer_to_list(max(262144, N + 65536)),
    Port = open_port({spawn_executable, Erl},
                     [{args, ["-noshell", "+P", Procs, "-pa", Dir,
                              "-run", ?MODULE_STRING, "sample",
                              "-extra", integer_to_list(N)]},
                      {line, 1024}, exit_status, use_stdio]),
    collect(Port, none).

collect(Port, Got) ->
    receive
        {Port, {data, {eol, "SAMPLE|" ++ Text}}} ->
            [R, H, S] = [list_to_float(X) || X <- string:split(Text, "|", all)],
            collect(Port, {R, H, S});
        {Port, {data, {eol, Line}}} ->
            io:format(standard_error, "~s~n", [Line]),
            collect(Port, Got);
        {Port, {data, {noeol, _}}} ->
            collect(Port, Got);
        {Port, {exit_status, 0}} when Got =/= none ->
            Got;
        {Port, {exit_status, Status}} ->
            error({spawn_child_failed, Status})
    end.

%% The child: `erl -run bench_spawn sample -extra COUNT`.
sample() ->
    bench_common:run(fun() ->
        [Arg] = init:get_plain_arguments(),
        N = list_to_integer(Arg),
        Ready = bench_common:ready_counter(N),
        Heap0 = erlang:memory(total),
        Rss0 = rss_bytes(),
        T0 = bench_common:now_ns(),
        Pids = spawn_all(N, Ready, []),
        bench_common:wait_ready(Ready),
        Rate = N / bench_common:seconds_since(T0),
        Heap = (erlang:memory(total) - Heap0) / N,
        Rss = (rss_bytes() - Rss0) / N,
        N = length(Pids),
        io:format("SAMPLE|~f|~f|~f~n", [Rate, Heap, Rss])
    end).

spawn_all(0, _, Pids) -> Pids;
spawn_all(K, Ready, Pids) ->
    spawn_all(K - 1, Ready, [spawn(?MODULE, idle, [Ready]) | Pids]).

idle(Ready) ->
    bench_common:tick(Ready),
    idle().

idle() ->
    receive
        {int, _} -> idle()
    end.

rss_bytes() ->
    {ok, Text} = file:read_file("/proc/self/statm"),
    [_, Resident | _] = string:split(Text, " ", all),
    binary_to_integer(Resident) * page_size().

page_size() ->
    list_to_integer(string:trim(os:cmd("getconf PAGESIZE"))).
