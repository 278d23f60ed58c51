%% SPDX-License-Identifier: Apache-2.0
%% Shared helpers of the Erlang/OTP baselines: the command line, the clock,
%% medians and the result lines that tools/bench/run_all.sh collects.
%%
%% Every baseline accepts the flags of the C++ benchmarks (common.hpp):
%%   [COUNT]     work size (default: the C++ benchmark's count)
%%   --quick     the default count divided by 100 (also TROUPE_BENCH_QUICK=1)
%%   --reps N    repetitions (default 3, ping-pong 7); the median is reported
%% and prints one line per figure:
%%   ERL|<key>|<value>
%% where <key> names the figure (run_all.sh pairs it with a C++ row).
-module(bench_common).

-export([options/3, flag/3, now_ns/0, seconds_since/1, median/1, emit/3,
         run/1, ready_counter/1, tick/1, wait_ready/1]).

-record(ready, {atomics, target, owner}).

%% Parses Args (strings, as `erl -run` passes them) into a map with the keys
%% count, quick, reps and args (the other arguments, in order).
options(Args, Full, Reps) ->
    Quick0 = case os:getenv("TROUPE_BENCH_QUICK") of
                 false -> false;
                 "" -> false;
                 "0" -> false;
                 _ -> true
             end,
    parse(Args, #{count => 0, quick => Quick0, reps => Reps, args => []}, Full).

parse([], Opts = #{count := 0, quick := Quick, args := Rest}, Full) ->
    Count = case Quick of
                true -> max(1, Full div 100);
                false -> Full
            end,
    Opts#{count := Count, args := lists:reverse(Rest)};
parse([], Opts = #{args := Rest}, _Full) ->
    Opts#{args := lists:reverse(Rest)};
parse(["--quick" | T], Opts, Full) ->
    parse(T, Opts#{quick := true}, Full);
parse(["--reps", N | T], Opts, Full) ->
    parse(T, Opts#{reps := max(1, list_to_integer(N))}, Full);
parse([A = "--" ++ _, V | T], Opts = #{args := Rest}, Full) ->
    parse(T, Opts#{args := [V, A | Rest]}, Full);
parse([A | T], Opts = #{count := 0, args := Rest}, Full) ->
    case string:to_integer(A) of
        {N, ""} when N > 0 -> parse(T, Opts#{count := N}, Full);
        _ -> parse(T, Opts#{args := [A | Rest]}, Full)
    end;
parse([A | T], Opts = #{args := Rest}, Full) ->
    parse(T, Opts#{args := [A | Rest]}, Full).

%% The integer value of `--name N` among the other arguments, or Default.
flag(Name, #{args := Args}, Default) ->
    case lists:dropwhile(fun(A) -> A =/= Name end, Args) of
        [_, V | _] -> list_to_integer(V);
        _ -> Default
    end.

now_ns() -> erlang:monotonic_time(nanosecond).

seconds_since(T0) -> (now_ns() - T0) / 1.0e9.

median(Xs) ->
    S = lists:sort(Xs),
    N = length(S),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, S);
        0 -> (lists:nth(N div 2, S) + lists:nth(N div 2 + 1, S)) / 2
    end.

%% Prints one figure with Decimals digits after the point.
emit(Key, Value, Decimals) ->
    Text = format(Value, Decimals),
    io:format("ERL|~s|~s~n", [Key, Text]),
    case os:getenv("TROUPE_BENCH_VERBOSE") of
        false -> ok;
        _ -> io:format(standard_error, "  erlang ~s: ~s~n", [Key, Text])
    end.

format(Value, 0) -> integer_to_list(round(Value));
format(Value, Decimals) ->
    float_to_list(float(Value), [{decimals, Decimals}]).

%% Runs Fun() as the whole program: halts with 0, or with 1 after printing
%% what went wrong.
run(Fun) ->
    try
        Fun(),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "erlang baseline failed: ~p:~p~n~p~n",
                      [Class, Reason, Stack]),
            halt(1)
    end.

%% Counts processes that ran their init (an atomics counter, as the C++
%% benchmarks count with a std::atomic); the one that reaches Target sends
%% `ready` to the calling process.
ready_counter(Target) ->
    #ready{atomics = atomics:new(1, []), target = Target, owner = self()}.

tick(#ready{atomics = A, target = T, owner = Owner}) ->
    case atomics:add_get(A, 1, 1) of
        T -> Owner ! ready, ok;
        _ -> ok
    end.

wait_ready(#ready{}) ->
    receive ready -> ok end.
