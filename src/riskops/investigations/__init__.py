"""On-demand investigations: evidence first, patterns, similar cases, a recommendation within
policy and a narrative citing the evidence. Nothing here changes a payment, a case or a list:
an analyst acts on what an investigation found."""
