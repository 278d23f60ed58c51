%% SPDX-License-Identifier: Apache-2.0
%% Local ping-pong on Erlang/OTP, as bench_ping_pong.cpp: two processes
%% exchange COUNT round trips (default 1,000,000); prints round trips per
%% second (median of --reps, default 7), key ping_pong.
%%
%% Both processes are spawned before the clock starts; the clock runs from
%% the start message to ping's last answer, as in the C++ benchmark. A ping
%% carries the sender's pid, since Erlang has no implicit sender.
-module(bench_ping_pong).

-export([main/0, main/1, pong/0, ping/3]).

%% `erl -run MODULE main -extra ARGS`
main() -> main(init:get_plain_arguments()).

main(Args) ->
    bench_common:run(fun() ->
        #{count := N, reps := Reps} = bench_common:options(Args, 1000000, 7),
        Rates = [run_pair(N) || _ <- lists:seq(1, Reps)],
        bench_common:emit("ping_pong", bench_common:median(Rates), 0)
    end).

run_pair(N) ->
    Pong = spawn(?MODULE, pong, []),
    Ping = spawn(?MODULE, ping, [Pong, N, self()]),
    T0 = bench_common:now_ns(),
    Ping ! start,
    receive done -> ok end,
    N / bench_common:seconds_since(T0).

pong() ->
    receive
        {ping, From, I} ->
            From ! {pong, I},
            pong();
        stop ->
            ok
    end.

ping(Pong, N, Owner) ->
    receive
        start -> Pong ! {ping, self(), 0}
    end,
    loop(Pong, N, Owner).

loop(Pong, N, Owner) ->
    receive
        {pong, I} when I + 1 < N ->
            Pong ! {ping, self(), I + 1},
            loop(Pong, N, Owner);
        {pong, _} ->
            Owner ! done,
            Pong ! stop
    end.
