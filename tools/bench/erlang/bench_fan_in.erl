%% SPDX-License-Identifier: Apache-2.0
%% Fan-in on Erlang/OTP, as bench_fan_in.cpp: 100 senders (--senders N) each
%% send COUNT messages (default 100,000) to one receiver; prints messages per
%% second received (median of --reps, default 3), twice: with the default
%% message queue (key fan_in) and with the receiver spawned with
%% {message_queue_data, off_heap} (key fan_in_off_heap), runs alternating.
%%
%% The receiver and the senders are spawned before the clock starts; the
%% clock runs from the start messages to the receiver's last message.
-module(bench_fan_in).

-export([main/0, main/1, receiver/2, sender/2]).

%% `erl -run MODULE main -extra ARGS`
main() -> main(init:get_plain_arguments()).

main(Args) ->
    bench_common:run(fun() ->
        Opts = #{count := N, reps := Reps} =
            bench_common:options(Args, 100000, 3),
        Senders = bench_common:flag("--senders", Opts, 100),
        OnHeap = fun() -> run(Senders, N, on_heap) end,
        OffHeap = fun() -> run(Senders, N, off_heap) end,
        Runs = [alternate(Rep, OnHeap, OffHeap) || Rep <- lists:seq(1, Reps)],
        {On, Off} = lists:unzip(Runs),
        bench_common:emit("fan_in", bench_common:median(On), 0),
        bench_common:emit("fan_in_off_heap", bench_common:median(Off), 0)
    end).

%% Runs F and G, F first in odd repetitions; returns {F's, G's}.
alternate(Rep, F, G) when Rep rem 2 =:= 1 ->
    A = F(),
    {A, G()};
alternate(_, F, G) ->
    B = G(),
    {F(), B}.

run(Senders, N, QueueData) ->
    Total = Senders * N,
    Receiver = spawn_opt(?MODULE, receiver, [Total, self()],
                         [{message_queue_data, QueueData}]),
    Xs = [spawn(?MODULE, sender, [Receiver, N]) || _ <- lists:seq(1, Senders)],
    T0 = bench_common:now_ns(),
    [X ! start || X <- Xs],
    receive done -> ok end,
    Total / bench_common:seconds_since(T0).

receiver(Left, Owner) when Left > 0 ->
    receive
        {msg, _} -> receiver(Left - 1, Owner)
    end;
receiver(0, Owner) ->
    Owner ! done.

sender(Receiver, N) ->
    receive
        start -> send(Receiver, 0, N)
    end.

send(_, N, N) -> ok;
send(Receiver, I, N) ->
    Receiver ! {msg, I},
    send(Receiver, I + 1, N).
