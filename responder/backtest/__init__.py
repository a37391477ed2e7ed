"""`responder backtest`: what a policy would have done over a past window of alerts.

The history of `ALERTS{alertstate="firing"}` is read from Prometheus (`history`), cut into alert
instances (`instances`), fed in time order through the responder's own decision code on a
throw-away journal with a simulated clock (`simulate`), and what the journal recorded is
counted (`report`). Nothing is changed and nobody is told: every action only plans, every
channel prints to a sink, and nobody acknowledges.
"""
