namespace Psyne.Sockets.Internal;

/// <summary>
/// A set of topic prefixes, counted or not. Counted (a subscriber's own filter, an XPUB's tally of
/// subscribers per prefix): two adds need two removes. Not counted (what one peer asked a
/// publisher for): a repeated SUBSCRIBE changes nothing and one CANCEL removes the prefix, as in
/// libzmq's publishers, whose subscribers send SUBSCRIBE for every subscribe call but CANCEL only
/// for the last. Owned by one socket's thread; no locking.
/// </summary>
/// <remarks>
/// Matching walks a byte trie, so its cost depends on the topic's length, not on how many
/// subscriptions there are.
/// </remarks>
internal sealed class SubscriptionSet
{
    private readonly Node _root = new();
    private readonly bool _counted;

    /// <param name="counted">Whether adds are counted (see the class remarks).</param>
    public SubscriptionSet(bool counted = true)
    {
        _counted = counted;
    }

    /// <summary>Distinct prefixes subscribed (for diagnostics and tests).</summary>
    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>Adds one subscription; true if the prefix is new.</summary>
    public bool Add(ReadOnlySpan<byte> prefix)
    {
        Node node = _root;
        foreach (byte b in prefix)
            node = node.Child(b, create: true)!;
        if (node.Refs == 0)
        {
            node.Refs = 1;
            Count++;
            return true;
        }
        if (_counted)
            node.Refs++;
        return false;
    }

    /// <summary>Removes one subscription (uncounted: the prefix); true if the prefix is now gone. Unknown prefixes are ignored.</summary>
    public bool Remove(ReadOnlySpan<byte> prefix)
    {
        Node? node = _root;
        foreach (byte b in prefix)
        {
            node = node.Child(b, create: false);
            if (node is null)
                return false;
        }
        if (node.Refs == 0)
            return false;
        if (!_counted)
            node.Refs = 1;
        if (--node.Refs == 0)
        {
            Count--;
            return true;
        }
        return false;
    }

    /// <summary>True if any subscribed prefix is a prefix of <paramref name="topic"/>.</summary>
    public bool Matches(ReadOnlySpan<byte> topic)
    {
        Node? node = _root;
        if (node.Refs > 0)
            return true;
        foreach (byte b in topic)
        {
            node = node.Child(b, create: false);
            if (node is null)
                return false;
            if (node.Refs > 0)
                return true;
        }
        return false;
    }

    public void Clear()
    {
        _root.Clear();
        Count = 0;
    }

    /// <summary>Every prefix in the set, once each (an XPUB cancels a departed subscriber's prefixes).</summary>
    public List<byte[]> Prefixes()
    {
        var all = new List<byte[]>(Count);
        var path = new List<byte>();
        _root.Collect(path, all);
        return all;
    }

    private sealed class Node
    {
        private byte[]? _keys;
        private Node[]? _children;
        private int _count;

        public int Refs;

        public Node? Child(byte key, bool create)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_keys![i] == key)
                    return _children![i];
            }
            if (!create)
                return null;
            if (_keys is null || _count == _keys.Length)
            {
                int size = _keys is null ? 2 : _keys.Length * 2;
                Array.Resize(ref _keys, size);
                Array.Resize(ref _children, size);
            }
            var child = new Node();
            _keys[_count] = key;
            _children![_count] = child;
            _count++;
            return child;
        }

        public void Collect(List<byte> path, List<byte[]> into)
        {
            if (Refs > 0)
                into.Add([.. path]);
            for (int i = 0; i < _count; i++)
            {
                path.Add(_keys![i]);
                _children![i].Collect(path, into);
                path.RemoveAt(path.Count - 1);
            }
        }

        public void Clear()
        {
            _keys = null;
            _children = null;
            _count = 0;
            Refs = 0;
        }
    }
}
