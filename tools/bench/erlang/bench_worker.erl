%% SPDX-License-Identifier: Apache-2.0
%% The gen_server children of bench_supervisor.erl: the child that crashes on
%% request (restart) and the tree's leaf worker.
%%
%% {crashy, Driver}: tells Driver its pid from init (as the raw CAF
%% supervisor sends the driver every new child's handle), answers
%% {ping, I} with I, and fails on `crash` with erlang:error, as the C++
%% child throws. {leaf, Ready}: ticks the ready counter from init and
%% handles nothing, as the C++ leaf does.
-module(bench_worker).
-behaviour(gen_server).

-export([start_link/1]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link(Arg) ->
    gen_server:start_link(?MODULE, Arg, []).

init({crashy, Driver}) ->
    Driver ! {child, self()},
    {ok, 0};
init({leaf, Ready}) ->
    bench_common:tick(Ready),
    {ok, 0}.

handle_call(crash, _From, _Handled) ->
    erlang:error(crash_requested);
handle_call({ping, I}, _From, Handled) ->
    {reply, I, Handled + 1}.

handle_cast(_, State) ->
    {noreply, State}.
