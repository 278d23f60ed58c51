%% SPDX-License-Identifier: Apache-2.0
%% Supervision on Erlang/OTP, as the restart and tree parts of
%% bench_supervisor.cpp (supervisor_restart.hpp, supervisor_tree.hpp), with
%% OTP's supervisor and gen_server. Crash reports are off (logger level
%% none), as the raw CAF side prints none: otherwise each crash would print
%% three reports to the console and that would be measured.
%%
%% restart  COUNT cycles (default 100,000) of "a call makes the child fail,
%%          then a call to it is answered", timed per cycle from sending the
%%          failing call until the answer, by this process as the driver.
%%          The child is a gen_server under a one_for_one supervisor that
%%          never gives up (intensity COUNT + 1 per second); each restart
%%          gives a new pid, which the new child sends the driver from its
%%          init (as the raw CAF supervisor sends the new handle), so the
%%          driver waits for both the failed call and the new pid. Keys:
%%          restart (restarts/s), restart_p50 and restart_p99 (us/cycle),
%%          and restart_first: the rate over the first 1,000 cycles only.
%%          OTP's supervisor keeps every restart of the last period in a
%%          list that it walks on each restart, so over 100,000 cycles at
%%          this rate each restart pays for a list of thousands; the first
%%          1,000 show the cost of a restart without that history.
%% tree     1 root supervisor, 100 supervisors (--sups N) x 100 gen_server
%%          workers (--workers N), all one_for_one: time until every worker
%%          ran its init (key tree_start, ms), and time from the exit
%%          request (shutdown, from the root's parent) until the root is
%%          down (key tree_stop, ms): OTP stops children one at a time in
%%          reverse start order, as troupe does.
%% flat     one supervisor of 10,000 gen_server workers (--flat-workers N),
%%          one_for_one, no level between: keys flat_start and flat_stop
%%          (ms), timed as for the tree.
%% Medians of --reps (default 3). Extra arguments `restart`, `tree` or `flat`
%% run only that part; --quick: 1,000 cycles, 10 x 100 workers and a flat
%% supervisor of 1,000.
-module(bench_supervisor).
-behaviour(supervisor).

-export([main/0, main/1]).

%% The cycles of the restart_first figure.
-define(FIRST, 1000).
-export([init/1]).

%% `erl -run bench_supervisor main -extra ARGS`
main() -> main(init:get_plain_arguments()).

main(Args) ->
    bench_common:run(fun() ->
        logger:set_primary_config(level, none),
        Opts = #{count := N, reps := Reps, quick := Quick, args := Rest} =
            bench_common:options(Args, 100000, 3),
        Wants = fun(Part) ->
                        lists:member(Part, Rest)
                            orelse not (lists:member("restart", Rest)
                                        orelse lists:member("tree", Rest)
                                        orelse lists:member("flat", Rest))
                end,
        case Wants("restart") of
            true -> restart_part(N, Reps);
            false -> ok
        end,
        case Wants("tree") of
            true ->
                Sups = bench_common:flag("--sups", Opts,
                                         case Quick of true -> 10;
                                                       false -> 100 end),
                Workers = bench_common:flag("--workers", Opts, 100),
                tree_part(Sups, Workers, Reps);
            false -> ok
        end,
        case Wants("flat") of
            true ->
                Flat = bench_common:flag("--flat-workers", Opts,
                                         case Quick of true -> 1000;
                                                       false -> 10000 end),
                flat_part(Flat, Reps);
            false -> ok
        end
    end).

%% -- supervisor callback -----------------------------------------------------

init({restart, Driver, N}) ->
    Flags = #{strategy => one_for_one, intensity => N + 1, period => 1},
    {ok, {Flags, [#{id => worker,
                    start => {bench_worker, start_link, [{crashy, Driver}]}}]}};
init({root, Sups, Workers, Ready}) ->
    {ok, {never_give_up(Sups),
          [#{id => {sup, I},
             start => {supervisor, start_link,
                       [?MODULE, {mid, Workers, Ready}]},
             type => supervisor}
           || I <- lists:seq(1, Sups)]}};
init({flat, Workers, Ready}) ->
    init({mid, Workers, Ready});
init({mid, Workers, Ready}) ->
    {ok, {never_give_up(Workers),
          [#{id => {worker, J},
             start => {bench_worker, start_link, [{leaf, Ready}]}}
           || J <- lists:seq(1, Workers)]}}.

never_give_up(Children) ->
    #{strategy => one_for_one, intensity => Children + 1, period => 1}.

%% -- restart -----------------------------------------------------------------

restart_part(N, Reps) ->
    Samples = [restart_run(N) || _ <- lists:seq(1, Reps)],
    Rates = [R || {R, _, _, _} <- Samples],
    Firsts = [F || {_, F, _, _} <- Samples],
    P50s = [P || {_, _, P, _} <- Samples],
    P99s = [P || {_, _, _, P} <- Samples],
    bench_common:emit("restart", bench_common:median(Rates), 0),
    bench_common:emit("restart_first", bench_common:median(Firsts), 0),
    bench_common:emit("restart_p50", bench_common:median(P50s), 2),
    bench_common:emit("restart_p99", bench_common:median(P99s), 2).

restart_run(N) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {restart, self(), N}),
    Child = receive {child, C} -> C end, % untimed: find the child
    Start = bench_common:now_ns(),
    Lats = cycles(Child, 0, N, []),
    Seconds = bench_common:seconds_since(Start),
    stop(Sup),
    % The cycles back to back: the first K latencies add up to their time.
    K = min(N, ?FIRST),
    First = K / (lists:sum(lists:nthtail(N - K, Lats)) / 1.0e6),
    Sorted = list_to_tuple(lists:sort(Lats)),
    {N / Seconds, First, element(N div 2 + 1, Sorted),
     element(N * 99 div 100 + 1, Sorted)}.

cycles(_, N, N, Lats) -> Lats;
cycles(Child, I, N, Lats) ->
    T0 = bench_common:now_ns(),
    try gen_server:call(Child, crash, infinity) of
        _ -> error(crash_call_answered)
    catch
        exit:_ -> ok
    end,
    Next = receive {child, C} -> C end,
    I = gen_server:call(Next, {ping, I}, infinity),
    Lat = (bench_common:now_ns() - T0) / 1000,
    cycles(Next, I + 1, N, [Lat | Lats]).

%% -- tree --------------------------------------------------------------------

tree_part(Sups, Workers, Reps) ->
    Samples = [tree_run(Sups, Workers) || _ <- lists:seq(1, Reps)],
    {Starts, Stops} = lists:unzip(Samples),
    bench_common:emit("tree_start", bench_common:median(Starts), 1),
    bench_common:emit("tree_stop", bench_common:median(Stops), 1).

tree_run(Sups, Workers) ->
    Ready = bench_common:ready_counter(Sups * Workers),
    T0 = bench_common:now_ns(),
    {ok, Root} = supervisor:start_link(?MODULE, {root, Sups, Workers, Ready}),
    bench_common:wait_ready(Ready),
    StartMs = bench_common:seconds_since(T0) * 1000,
    {StartMs, stop(Root) * 1000}.

%% -- flat --------------------------------------------------------------------

flat_part(Workers, Reps) ->
    Samples = [flat_run(Workers) || _ <- lists:seq(1, Reps)],
    {Starts, Stops} = lists:unzip(Samples),
    bench_common:emit("flat_start", bench_common:median(Starts), 1),
    bench_common:emit("flat_stop", bench_common:median(Stops), 1).

flat_run(Workers) ->
    Ready = bench_common:ready_counter(Workers),
    T0 = bench_common:now_ns(),
    {ok, Sup} = supervisor:start_link(?MODULE, {flat, Workers, Ready}),
    bench_common:wait_ready(Ready),
    StartMs = bench_common:seconds_since(T0) * 1000,
    {StartMs, stop(Sup) * 1000}.

%% Asks supervisor Sup (started by this process) to shut down, as its parent
%% does, and returns the seconds until it is down.
stop(Sup) ->
    unlink(Sup),
    Ref = monitor(process, Sup),
    T0 = bench_common:now_ns(),
    exit(Sup, shutdown),
    receive {'DOWN', Ref, process, Sup, _} -> ok end,
    bench_common:seconds_since(T0).
