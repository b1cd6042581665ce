"""Copy trading's refusals, each with its stable code (docs/api.md "Copy trading")."""

from tradehive.errors import Conflict, DomainError, NotFound


class LeaderNotFound(NotFound):
    code = "leader_not_found"
    default_message = "No trader with this handle leads copy trading."


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    default_message = "No such copy subscription of yours."


class NotPublic(DomainError):
    code = "copy_not_public"
    status = 403
    default_message = "Only a trader shown in the rankings can lead: opt in on the account page."


class CopySelf(DomainError):
    code = "copy_self"
    status = 400
    default_message = "You cannot copy yourself."


class AlreadyFollowing(Conflict):
    code = "copy_already_following"
    default_message = "You already copy this trader: top up or change that subscription."


class LeaderFull(Conflict):
    code = "copy_leader_full"
    default_message = "This trader has as many followers as they accept."


class BelowMinimumCopy(DomainError):
    code = "copy_below_minimum"
    status = 400
    default_message = "The amount is below this trader's minimum copy amount."


class SubscriptionClosed(Conflict):
    code = "subscription_not_active"
    default_message = "This copy is stopping or stopped."
