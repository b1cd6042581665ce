"""A user's inbox: notifications stored once per reported event and pushed to their owner.

It sits just above ``accounts`` so that every domain that causes a notification (wallets,
settlement) can write one; each domain words its own notifications."""
