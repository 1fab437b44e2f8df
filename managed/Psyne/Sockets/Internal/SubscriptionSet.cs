namespace Psyne.Sockets.Internal;

/// <summary>
/// The topic prefixes one subscriber asked for, counted (two SUBSCRIBEs of a topic need two
/// CANCELs, as in libzmq). Owned by the publishing socket's thread; no locking.
/// </summary>
/// <remarks>
/// Matching walks a byte trie, so its cost depends on the topic's length, not on how many
/// subscriptions there are.
/// </remarks>
internal sealed class SubscriptionSet
{
    private readonly Node _root = new();

    /// <summary>Distinct prefixes subscribed (for diagnostics and tests).</summary>
    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>Adds one subscription; true if the prefix is new.</summary>
    public bool Add(ReadOnlySpan<byte> prefix)
    {
        Node node = _root;
        foreach (byte b in prefix)
            node = node.Child(b, create: true)!;
        if (node.Refs++ == 0)
        {
            Count++;
            return true;
        }
        return false;
    }

    /// <summary>Removes one subscription; true if the prefix is now gone. Unknown prefixes are ignored.</summary>
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

        public void Clear()
        {
            _keys = null;
            _children = null;
            _count = 0;
            Refs = 0;
        }
    }
}
