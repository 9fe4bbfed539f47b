"""Speed measurements of ``kgen bench``: training and sampling throughput (:mod:`.throughput`) and the
analytic FLOP counts that turn it into a share of the machine's peak (:mod:`.flops`)."""
