"""Services: what a client owns (items), what it costs, and how it moves through its life.

``tariffs`` reads the catalog as billing values, ``items`` keeps the item rows
and their status, ``lines`` prices and carries out one thing a client pays
for (an order, a renewal, an add-on change), now or from the basket.
"""
